"""The shared vocabulary: round trips, range checks, spec encodings and the generated header."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slugsim.cxl import (
    MESSAGE_TYPES,
    D2HReqOpcode,
    D2HRspOpcode,
    EmcRecord,
    GOState,
    H2DRspOpcode,
    M2SReq,
    M2SReqOpcode,
    Message,
    S2MNDROpcode,
    header,
    recordable_types,
)


def _value(spec):
    if spec.enum is not None:
        return st.sampled_from(list(spec.enum))
    return st.integers(0, spec.mask).map(lambda v: v << spec.shift)


def _messages(cls: type[Message]):
    return st.builds(cls, **{spec.name: _value(spec) for spec in cls.FIELDS})


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_pack_unpack_round_trip(cls, data):
    msg = data.draw(_messages(cls))
    word = msg.pack()
    assert 0 <= word < 1 << cls.WIDTH
    assert cls.unpack(word) == msg
    assert cls.from_bytes(msg.to_bytes()) == msg


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_out_of_range_fields_are_refused(cls, data):
    spec = data.draw(st.sampled_from(cls.FIELDS))
    if spec.enum is not None:
        legal = {m.value for m in spec.enum}
        bad = data.draw(st.integers(-4, spec.mask + 4).filter(lambda v: v not in legal))
    else:
        bad = data.draw(
            st.one_of(
                st.integers(max_value=-1),
                st.integers(min_value=spec.limit, max_value=spec.limit * 4),
                st.integers(1, (1 << spec.shift) - 1) if spec.shift else st.nothing(),
                st.just(True),
                st.just(1.0),
            )
        )
    base = data.draw(_messages(cls))
    with pytest.raises(ValueError, match=f"{cls.__name__}.{spec.name}"):
        dataclasses.replace(base, **{spec.name: bad})


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_unpack_refuses_words_that_do_not_fit(cls):
    with pytest.raises(ValueError, match="at most"):
        cls.unpack(1 << cls.WIDTH)
    with pytest.raises(ValueError, match="non-negative"):
        cls.unpack(-1)


def test_unpack_refuses_reserved_opcode_encodings():
    word = M2SReq(M2SReqOpcode.MEMRD).pack()
    # SnpType 1xx is reserved (S4 Tbl 3-38); put 0b100 in the snp_type field.
    spec = next(s for s in M2SReq.FIELDS if s.name == "snp_type")
    with pytest.raises(ValueError, match="not a valid SnpType"):
        M2SReq.unpack(word | (0b100 << spec.lsb))


def test_spec_encodings_match_the_reference():
    # Spot checks against CXL_REFERENCE.md §1.3-§2.2 (and Linux cxl_pmu.c's bit numbering).
    assert D2HReqOpcode.RDOWN == 0b00010
    assert D2HReqOpcode.CACHEFLUSHED == 0b10000
    assert D2HRspOpcode.RSPIFWDM == 0b01111
    assert D2HRspOpcode.RSPVFWDV == 0b10110
    assert H2DRspOpcode.GO_ERR_WRITEPULL == 0b1111
    assert GOState.M == 0b0110
    assert GOState.I == 0b0011
    assert M2SReqOpcode.MEMCLNEVCT == 0b1010
    assert S2MNDROpcode.BI_CONFLICT_ACK == 0b100


def test_field_widths_follow_the_spec_tables():
    widths = {cls.__name__: {f.name: f.width for f in cls.FIELDS} for cls in MESSAGE_TYPES}
    assert widths["D2HReq"]["cqid"] == 12  # S4 Tbl 3-13
    assert widths["M2SReq"]["tag"] == 16  # S4 Tbl 3-34
    assert widths["M2SReq"]["addr"] == 46  # Addr[51:6]
    assert widths["S2MBISnp"]["bi_tag"] == 12  # S4 Tbl 3-46
    assert widths["H2DRsp"]["rsp_data"] == 12  # S4 Tbl 3-18


def test_layout_is_lsb_first_in_declaration_order():
    msg = M2SReq(M2SReqOpcode.MEMRD, tag=0xABCD, addr=0x40)
    word = msg.pack()
    assert word & 0xF == 1  # opcode at bit 0
    tag = next(s for s in M2SReq.FIELDS if s.name == "tag")
    assert (word >> tag.lsb) & 0xFFFF == 0xABCD
    addr = next(s for s in M2SReq.FIELDS if s.name == "addr")
    assert (word >> addr.lsb) & 1 == 1  # line 1 = byte address 0x40


def test_emc_record_of_a_message():
    msg = M2SReq(M2SReqOpcode.MEMRD, tag=0x1234, addr=0xFFFF_FFC0)
    record = EmcRecord.of(msg, timestamp=99, port=3)
    assert (record.channel, record.opcode, record.tag, record.addr, record.port) == (
        msg.CHANNEL,
        1,
        0x1234,
        0xFFFF_FFC0,
        3,
    )
    assert EmcRecord.WIDTH == 128
    assert EmcRecord.unpack(record.pack()) == record


def test_generated_header_is_current():
    committed = header.HEADER_PATH.read_text()
    assert committed == header.render(), (
        "rtl/include/cxl_defs.vh is stale: run `python -m slugsim.cxl.header`"
    )


def test_generated_channel_fields_header_is_current():
    committed = (header.HEADER_PATH.parent / header.FIELDS_NAME).read_text()
    assert committed == header.render_channel_fields(), (
        f"rtl/include/{header.FIELDS_NAME} is stale: run `python -m slugsim.cxl.header`"
    )


def test_an_emc_can_record_every_channel_with_an_opcode_and_a_tag_that_fit():
    names = {cls.CHANNEL.name for cls in recordable_types()}
    # Every request and response that carries an opcode and a tag; not the data channels (no
    # opcode) and not ATS (no opcode field, and a page address rather than a line address).
    assert names == {
        "D2H_REQ", "D2H_RSP", "H2D_REQ", "H2D_RSP", "M2S_REQ", "M2S_RWD", "M2S_BIRSP",
        "S2M_BISNP", "S2M_NDR", "S2M_DRS",
    }  # fmt: skip


def test_header_check_mode(tmp_path, capsys):
    stale = tmp_path / "cxl_defs.vh"
    stale.write_text("// old\n")
    assert header.main(["--check", "--output", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    assert header.main(["--output", str(stale)]) == 0
    assert header.main(["--check", "--output", str(stale)]) == 0
    fields = tmp_path / header.FIELDS_NAME  # written beside it, and checked too
    fields.write_text(fields.read_text() + "// edited\n")
    assert header.main(["--check", "--output", str(stale)]) == 1
    assert header.FIELDS_NAME in capsys.readouterr().err


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_generated_pack_and_unpack_match_the_generic_ones(cls, data):
    msg = data.draw(_messages(cls))
    word = Message.pack(msg)
    assert msg.pack() == word
    assert cls.unpack(word) == Message.unpack.__func__(cls, word)


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_unchecked_constructors_build_what_the_checked_one_does(cls, data):
    msg = data.draw(_messages(cls))
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    optional = [s.name for s in cls.FIELDS if s.name not in required]
    chosen = required + [name for name in optional if data.draw(st.booleans())]
    made = cls.unchecked(*chosen)(*(getattr(msg, name) for name in chosen))
    checked = cls(**{name: getattr(msg, name) for name in chosen})
    assert made == checked and made.pack() == checked.pack()
    with pytest.raises(ValueError, match="has no field 'nope'"):
        cls.unchecked("nope")


def test_pbr_ids_and_virtual_channels():
    # CXL_REFERENCE.md §1.2, §2.1: a PBR request carries SPID and DPID, a response its DPID.
    from slugsim.cxl import S2MDRS, D2HReq, H2DRsp, MessageClass

    for cls in (M2SReq, D2HReq):
        assert {"spid", "dpid"} <= {s.name for s in cls.FIELDS}
    for cls in (S2MDRS, H2DRsp):
        names = {s.name for s in cls.FIELDS}
        assert "dpid" in names and "spid" not in names
    assert all(s.width == 12 for cls in MESSAGE_TYPES for s in cls.FIELDS if s.name.endswith("pid"))
    assert M2SReq.VC == MessageClass.M2S_REQ and S2MDRS.VC == MessageClass.S2M_DRS
    assert {cls.VC for cls in MESSAGE_TYPES if cls.CHANNEL is not None} == set(MessageClass)
