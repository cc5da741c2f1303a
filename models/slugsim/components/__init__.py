"""Transaction-level models: hosts, switches, Type-3 memory devices and the links between them."""

from .dram import DramChannel
from .hdm import HdmDecoder
from .host import AddressSpace, Budget, CxlTarget, Host
from .links import SLOT_BYTES, connect, slot_bandwidth
from .llc import Llc
from .routed import RoutedM2SReq, RoutedM2SRwD, RoutedS2MDRS, RoutedS2MNDR
from .switch import Switch, SwitchPort
from .type3 import Type3Device

__all__ = [
    "SLOT_BYTES",
    "AddressSpace",
    "Budget",
    "CxlTarget",
    "DramChannel",
    "HdmDecoder",
    "Host",
    "Llc",
    "RoutedM2SReq",
    "RoutedM2SRwD",
    "RoutedS2MDRS",
    "RoutedS2MNDR",
    "Switch",
    "SwitchPort",
    "Type3Device",
    "connect",
    "slot_bandwidth",
]
