"""The `switchboard` command's subcommands, by what they work on (`chalicelib/cli.py` builds the
command line and runs them)."""
