"""motionlab: the library under *Motion as Tokens*, an executable textbook on discrete-token
text-to-motion (T2M-GPT, TM2T, MotionGPT, MoMask).

Layers, lowest first: ``profiles``/``runtime``/``training`` serve all; ``data`` -> ``tokenizers`` ->
``generators`` -> ``evaluation`` -> ``viz``.  Chapters start with :func:`motionlab.notebook.setup`.
"""

__version__ = "0.1.0"

__all__ = ["Profile", "get_profile", "resolve_profile_name", "setup", "__version__"]


def __getattr__(name):  # lazy: `import motionlab` stays cheap (profiles import every model's config)
    if name == "setup":
        from motionlab.notebook import setup

        return setup
    if name in ("Profile", "get_profile", "resolve_profile_name"):
        from motionlab import profiles

        return getattr(profiles, name)
    raise AttributeError(f"module 'motionlab' has no attribute {name!r}")
