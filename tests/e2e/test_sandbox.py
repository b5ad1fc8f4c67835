"""The offline sandbox driven through a pipe (issue 20). Work in progress."""
