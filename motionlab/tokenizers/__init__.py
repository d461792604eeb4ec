"""motionlab.tokenizers"""
