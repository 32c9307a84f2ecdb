DROP TABLE IF EXISTS sequence_generation_items;
DROP TABLE IF EXISTS sequence_generations;
