module gowait

go 1.26

require daemonbench v0.0.0

replace daemonbench => ../../../shared/bench/go
