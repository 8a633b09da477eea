"""CSV files of the gaming backend's data/ folder: POST /data/uploads/{kind}, GET /data/uploads."""
