"""Packaging for bakedavatar, driven by settings.ini (nbdev 2 layout)."""
from configparser import ConfigParser

import setuptools

config = ConfigParser(delimiters=["="])
config.read("settings.ini", encoding="utf-8")
cfg = config["DEFAULT"]

requirements = cfg.get("requirements", "").split()
dev_requirements = cfg.get("dev_requirements", "").split()
console_scripts = [s for s in cfg.get("console_scripts", "").split() if s]

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    license="Apache-2.0",
    keywords=cfg["keywords"],
    url=cfg["git_url"],
    # the web viewer (web/) ships inside the package as bakedavatar/web (found by bakedavatar.export.viewer_dir)
    packages=setuptools.find_packages(include=["bakedavatar", "bakedavatar.*"]) + ["bakedavatar.web"],
    package_dir={"bakedavatar.web": "web"},
    package_data={"bakedavatar.web": ["*.html", "*.css", "js/*.js", "vendor/*.js", "vendor/three.LICENSE",
                                      "vendor/README.md", "vendor/addons/controls/*.js"]},
    include_package_data=True,
    python_requires=">=" + cfg["min_python"],
    install_requires=requirements,
    extras_require={"dev": dev_requirements},
    entry_points={"console_scripts": console_scripts, "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
