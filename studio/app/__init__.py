"""Use cases shared by the UI and the CLI: each is one function over the store and the data
folder, so the Train page and ``tuning-studio train`` run the same sequence."""
