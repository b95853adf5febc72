DROP TABLE console_work;
