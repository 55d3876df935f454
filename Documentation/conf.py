# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration for `make docs` (scripts/docs).
project = 'ESTP'
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
extensions = ['sphinx.ext.graphviz']
graphviz_output_format = 'svg'
