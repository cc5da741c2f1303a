"""The built-in component kinds, each one module that registers itself with
``slugsim.contract.component`` (importing this package registers them all)."""

from .cache import Cache, Hit, LineState, Miss
from .coherent_params import DeviceWorkloadParams, Type1Params
from .dram import DramChannel
from .hdm import HdmDecoder
from .host import AddressSpace, Budget, Host, HostParams
from .links import SLOT_BYTES, connect, slot_bandwidth
from .placeholder import PlaceholderParams
from .switch import Switch, SwitchParams, SwitchPort
from .type1 import Type1Device
from .type2 import Type2Device, Type2Params
from .type3 import LogicalDevice, Type3Device, Type3Params

__all__ = [
    "SLOT_BYTES",
    "AddressSpace",
    "Budget",
    "Cache",
    "DeviceWorkloadParams",
    "DramChannel",
    "HdmDecoder",
    "Hit",
    "Host",
    "HostParams",
    "LineState",
    "LogicalDevice",
    "Miss",
    "PlaceholderParams",
    "Switch",
    "SwitchParams",
    "SwitchPort",
    "Type1Device",
    "Type1Params",
    "Type2Device",
    "Type2Params",
    "Type3Device",
    "Type3Params",
    "connect",
    "slot_bandwidth",
]
