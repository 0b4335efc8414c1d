-- One database per service and department (run once, on an empty data volume).
-- Add a department: CREATE DATABASE ideas_<dept>; experiments_<dept>; notifications_<dept>
-- (hyphens in the code become underscores), or let the services create them at start.
CREATE DATABASE reporting;
CREATE DATABASE ideas_dwp;
CREATE DATABASE experiments_dwp;
CREATE DATABASE notifications_dwp;
CREATE DATABASE ideas_hmrc;
CREATE DATABASE experiments_hmrc;
CREATE DATABASE notifications_hmrc;
