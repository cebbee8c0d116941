"""The dashboard's own writes: what clinicians and patients enter while the dashboard serves
(alert acknowledgements, patient check-ins), kept in a transactional store beside the DuckDB
file (docs/design.md, "Writes while serving")."""
