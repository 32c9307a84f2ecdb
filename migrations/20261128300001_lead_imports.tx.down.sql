DROP TABLE IF EXISTS lead_import_rows_rejected;
DROP TABLE IF EXISTS lead_import_files;
DROP TABLE IF EXISTS lead_imports;
