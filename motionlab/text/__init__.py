"""motionlab.text"""
