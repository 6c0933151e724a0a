"""Services: one subpackage per capability (each __init__ says what it owns); audit and upsert helpers shared by all."""
