"""motionlab.generators"""
