"""Archive (R4.3): filing with 档号, volumes, paper custody, verified backups and integrity checks."""
