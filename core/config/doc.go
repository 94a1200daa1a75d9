// Package config is the agent's configuration: every key of the config file and its flag,
// their defaults (the README's table), the checks on each value, and the file format (one KEY =
// value a line, # comments, keys case-insensitive). Config.String writes what Parse reads
// back.
//
// Only cmd/meterd reads files and flags into a Config; core and its adapters read the Config
// they are given. The package imports nothing of the agent's but export's usage Level.
package config
