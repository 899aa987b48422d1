"""The bundle's entry point: the same ``main`` that the pip-installed ``apportion`` script calls.

PyInstaller runs its entry script as ``__main__``; pointing it at ``client/cli.py`` would load
that module twice (once as ``__main__``, once as ``client.cli`` for the command modules), so
this thin launcher imports it instead.
"""

from client.cli import main

if __name__ == "__main__":
    main()
