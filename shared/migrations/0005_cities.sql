-- The city directory as this service knows it (issue #14): every runtime city's latest document, projected from
-- CityAdded / CityUpdated on the compacted identity.city.v1 topic (shared/city_directory.py). Read at start into
-- the process's directory (shared.cities), so a restarted service knows its cities before Kafka answers. The seed
-- cities (config/cities.toml) are not here: they are the base directory of every process. No secrets here.
CREATE TABLE IF NOT EXISTS cities (
    slug       text        PRIMARY KEY,
    version    integer     NOT NULL,
    document   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
