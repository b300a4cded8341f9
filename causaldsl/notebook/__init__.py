"""The notebook face of causaldsl: magics, SVG drawings, twin networks, the explorer, progress bars.

Nothing here is needed to answer queries; it shows them. ``%load_ext causaldsl``
registers the ``%%causal`` / ``%causal`` magics (:mod:`.magics`).
"""
