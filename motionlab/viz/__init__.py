"""motionlab.viz"""
