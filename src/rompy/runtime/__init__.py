"""What keeps runs safe while they run: signals, process groups, output copying, ownership, the active-run registry."""
