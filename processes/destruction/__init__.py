"""Retention, holds and destruction (R4.5): rules, 暂缓销毁, the nightly scan, approval, crypto-shredding, 销毁清册."""
