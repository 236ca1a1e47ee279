"""Console scripts: parse, compose the config, call one function, print; exit code 2 on user errors."""
