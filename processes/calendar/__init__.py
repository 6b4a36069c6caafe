"""工作日历: extra holidays and working days for years the statutory calendar library does not know yet."""
