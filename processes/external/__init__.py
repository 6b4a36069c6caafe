"""External transfer (对外移交, R4.2.3-R4.2.4): check, backup snapshot, package, and the receiving unit's receipt."""
