"""althan.dsp"""
