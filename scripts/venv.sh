# Sourced by ./run and ./test: creates .venv with Python 3.11+ and installs the requirements
# file given as $1, again only when that file (or one it includes) changed.
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv with $python_bin ..."
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$1")"
digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "Installing $1 into .venv ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$1"
  echo "$digest" > "$stamp"
fi
