-- The city directory identity owns (issue #14): every city an operator added at runtime, its latest validated
-- document (never a secret) and version. Published as CityAdded / CityUpdated on identity.city.v1 (compacted);
-- the seed cities of config/cities.toml are not here (they are every process's base directory).
CREATE TABLE IF NOT EXISTS city_documents (
    slug       text        PRIMARY KEY,
    version    integer     NOT NULL DEFAULT 1,
    document   jsonb       NOT NULL,
    added_by   text        NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
