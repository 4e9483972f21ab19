"""The database layer: the schema and its migrations, the store every part reads and writes,
its records, the summaries kept up to date on write, and paged views for the Data table."""
