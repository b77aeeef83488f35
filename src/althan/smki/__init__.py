"""althan.smki"""
