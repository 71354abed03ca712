import sys
from pathlib import Path

# The tests import their dense reference as a plain module; svsim itself comes
# from the installed package, never from the source tree.
sys.path.insert(0, str(Path(__file__).parent))
