"""Running task folders written for OpenEvolve and ShinkaEvolve unchanged (docs/migrating.md)."""
