DROP TABLE IF EXISTS notification_reads;
