"""The live dashboard of ``sim dashboard``: a Solara page that runs a shipped scenario with
the main policy levers moved, quarter by quarter, against the same scenario unmoved.

Modules, one concept each:

- ``catalogue``: the shipped scenarios the page may pick (and nothing else);
- ``levers``: the sliders and the policy keys they move;
- ``form``: what the page sends, turned into scenario dicts and validated as a file is;
- ``folders``: the results folder the dashboard owns, its run folders and their zips;
- ``runner``: the two models stepped together in a background thread;
- ``charts``: the quarterly paths drawn so far;
- ``app``: the Solara page; ``server``: starting it (``sim dashboard``).

Importing this package is cheap; Solara, the model and matplotlib load in the modules
that need them.
"""
