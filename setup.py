"""Package discovery that pyproject.toml alone cannot express.

``envs/`` installs as ``agentsearch.envs`` (the import name ``envs`` belongs to another PyPI package) and
``data/`` as ``agentsearch._data``; subpackages are discovered so new environments need no listing here.
"""

from setuptools import find_packages, setup

packages = find_packages(include=["agentsearch", "agentsearch.*"])
packages += ["agentsearch.envs"] + [f"agentsearch.envs.{name}" for name in find_packages("envs")]
packages += ["agentsearch._data"]

setup(packages=packages)
