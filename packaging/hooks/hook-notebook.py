# Our `notebook` package shares its name with Jupyter's, for which pyinstaller-hooks-contrib
# ships a hook that fails on ours. This empty hook takes precedence: ours needs none.
