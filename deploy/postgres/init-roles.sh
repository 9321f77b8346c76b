#!/bin/sh
# Run once by the postgres image on an empty data volume (compose.yaml mounts it into
# /docker-entrypoint-initdb.d). The same roles an operator creates by hand without
# containers (deploy/README.md): an owner for the schema, and the app role the web apps
# and workers connect as, which owns nothing and cannot bypass row-level security.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_password="$SAMVERKAN_OWNER_DB_PASSWORD" \
     -v app_password="$SAMVERKAN_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE samverkan_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE samverkan_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE samverkan OWNER samverkan_owner;
SQL
