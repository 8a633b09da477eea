"""A tenant's customer records (the GA seed's users and locations): bulk upsert and reads."""
