"""`python -m rompy` is the same as the `rompy` console script."""

from rompy.cli import main

if __name__ == "__main__":
    main()
