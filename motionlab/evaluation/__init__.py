"""motionlab.evaluation"""
