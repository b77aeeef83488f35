"""althan.ssi: the Self-Service Interface, a web portal for suppliers, AltHANCo and DCC
operators over the DSP's store (`create_ssi_app`; its pages are `althan.ssi.pages.PAGES`)."""

from althan.ssi.app import create_ssi_app
from althan.ssi.config import SsiConfig

__all__ = ["SsiConfig", "create_ssi_app"]
