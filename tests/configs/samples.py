"""Configurations as the devices print them (written for these tests, shaped like real ones).

Each sample: the text, the secrets it holds (none may survive masking), and the volatile lines
normalising must drop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    platform: str
    text: str
    secrets: tuple[str, ...]
    volatile: int


CISCO_IOS = Sample(
    "cisco_ios",
    """Building configuration...

Current configuration : 2178 bytes
!
! Last configuration change at 09:12:44 CST Tue Mar 4 2025 by admin
! NVRAM config last updated at 09:13:02 CST Tue Mar 4 2025 by admin
!
version 15.2
service password-encryption
!
hostname CORE-SW1
!
enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
!
username admin privilege 15 secret 9 $9$nhEmQVczB7dqjw$Wz2LKpFo1bq8LZ4ozHFAbj7lo
username backup password 7 0822455D0A16
!
interface GigabitEthernet0/1
 description 上联-核心交换机
 switchport mode trunk
 standby 1 authentication md5 key-string 7 13061E010803
!
snmp-server community Xy7secretRO RO 10
snmp-server community Wr1teRW RW
tacacs-server host 10.1.1.5 key 7 045802150C2E
ntp clock-period 17179862
ntp server 10.1.1.1
!
line vty 0 4
 password 7 110A1016141D
 login local
!
end""",
    (
        "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
        "$9$nhEmQVczB7dqjw$Wz2LKpFo1bq8LZ4ozHFAbj7lo",
        "0822455D0A16",
        "13061E010803",
        "Xy7secretRO",
        "Wr1teRW",
        "045802150C2E",
        "110A1016141D",
    ),
    5,
)

CISCO_NXOS = Sample(
    "cisco_nxos",
    """!Command: show running-config
!Running configuration last done at: Tue Mar  4 09:12:44 2025
!Time: Wed Mar  5 10:00:01 2025

version 9.3(8) Bios:version 05.45
hostname DC-LEAF-01
username admin password 5 $5$KLMNOP$Q7eq4RrZ1/cnqUO5ZdZ5aFw8b  role network-admin
snmp-server user admin network-admin auth md5 0x9a8bd1e8a4b0d8d5 priv 0x9a8bd1e8a4b0d8d5
snmp-server community NxComm01 group network-operator
tacacs-server host 10.1.1.5 key 7 "fewhg1234"
ntp server 10.1.1.1 use-vrf management

interface Ethernet1/1
  description to-spine-1
  no shutdown""",
    ("$5$KLMNOP$Q7eq4RrZ1/cnqUO5ZdZ5aFw8b", "0x9a8bd1e8a4b0d8d5", "NxComm01", "fewhg1234"),
    3,
)

HUAWEI = Sample(
    "huawei_vrp",
    """!Software Version V200R019C10SPC500
!Last configuration was updated at 2025-03-04 09:12:44+08:00 by admin
!Last configuration was saved at 2025-03-03 18:00:01+08:00 by admin
#
sysname HW-AGG-01
#
 clock timezone BJ add 08:00:00
#
aaa
 local-user admin password irreversible-cipher $1a$P/9D:,5]x$B'N>N&Wq~Ur"<!mYB1e<5$
 local-user admin privilege level 15
 local-user ops password cipher %^%#a9P(4Vnp/3b%^%#
#
interface GigabitEthernet0/0/1
 description 至机房B-配线架3
 port link-type trunk
#
snmp-agent community read cipher %^%#Rk}D7=G9UC%^%#
snmp-agent community write PlainWr1te
snmp-agent sys-info version v2c v3
#
ospf 1
 area 0.0.0.0
  authentication-mode md5 1 cipher %^%#ospfKEY1%^%#
#
user-interface vty 0 4
 authentication-mode aaa
#
return""",
    (
        "$1a$P/9D:,5]x$B'N>N&Wq~Ur\"<!mYB1e<5$",
        "%^%#a9P(4Vnp/3b%^%#",
        "%^%#Rk}D7=G9UC%^%#",
        "PlainWr1te",
        "%^%#ospfKEY1%^%#",
    ),
    3,
)

H3C = Sample(
    "h3c_comware",
    """#
 version 7.1.064, Release 6615P08
#
 sysname H3C-ACC-07
#
 clock protocol ntp
#
local-user admin class manage
 password hash $h$6$Fs/WA0Zjl7V3rTIJ$Yv3mV0Mjh==
 service-type ssh terminal
#
 super password role network-admin hash $h$6$SuPeR$Zz9==
#
 snmp-agent community read simple Pub1ic0
 snmp-agent community write cipher $c$3$Wr1tE==
#
interface GigabitEthernet1/0/1
 description 服务器区-接入
#
return""",
    ("$h$6$Fs/WA0Zjl7V3rTIJ$Yv3mV0Mjh==", "$h$6$SuPeR$Zz9==", "Pub1ic0", "$c$3$Wr1tE=="),
    0,
)

JUNOS = Sample(
    "juniper_junos",
    """## Last commit: 2025-03-04 09:12:44 CST by admin
version 21.4R3-S1;
system {
    host-name EDGE-MX1;
    root-authentication {
        encrypted-password "$6$aBcD$rootHashValue"; ## SECRET-DATA
    }
    login {
        user ops {
            class super-user;
            authentication {
                encrypted-password "$6$eFgH$opsHashValue"; ## SECRET-DATA
            }
        }
    }
}
snmp {
    community JunComm {
        authorization read-only;
    }
}
protocols {
    bgp {
        group upstream {
            authentication-key "$9$bgpKeyValue"; ## SECRET-DATA
        }
    }
}""",
    ("$6$aBcD$rootHashValue", "$6$eFgH$opsHashValue", "JunComm", "$9$bgpKeyValue"),
    1,
)

ARISTA = Sample(
    "arista_eos",
    """! Command: show running-config
! device: leaf1 (DCS-7050SX3-48YC8, EOS-4.28.3M)
!
! boot system flash:/EOS-4.28.3M.swi
!
hostname leaf1
!
username admin privilege 15 role network-admin secret sha512 $6$AbCdEf$aristaHash
enable password sha512 $6$EnAbLe$aristaEnable
!
snmp-server community AriComm ro
!
router bgp 65001
   neighbor 10.0.0.1 password 7 AbCdEf123==
!
end""",
    ("$6$AbCdEf$aristaHash", "$6$EnAbLe$aristaEnable", "AriComm", "AbCdEf123=="),
    1,
)

FORTIGATE = Sample(
    "fortigate",
    """#config-version=FGT60F-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin
#conf_file_ver=1830527114093857
#buildno=1517
#global_vdom=1
config system global
    set hostname "FW-EDGE-01"
    set timezone 55
end
config system admin
    edit "admin"
        set accprofile "super_admin"
        set password ENC SH2nlSm9TjMmkY0oCqlKzyh1Q2FMKOmG2tW0Ql4=
    next
end
config vpn ipsec phase1-interface
    edit "to-branch"
        set psksecret ENC q8MdLSB2F7bNtxPEdqD1QSjmNHsa4m2E==
    next
end""",
    ("SH2nlSm9TjMmkY0oCqlKzyh1Q2FMKOmG2tW0Ql4=", "q8MdLSB2F7bNtxPEdqD1QSjmNHsa4m2E=="),
    1,
)

RUIJIE = Sample(
    "ruijie",
    """Building configuration...
Current configuration : 1450 bytes

!
version RGOS 10.4(3b19)p2
hostname RJ-ACC-02
!
enable secret 5 $1$RuIj$ruijieEnable
username admin password 7 06261a3f12
!
snmp-server community RjComm ro
!
interface GigabitEthernet 0/1
 description 办公区
!
end""",
    ("$1$RuIj$ruijieEnable", "06261a3f12", "RjComm"),
    2,
)

ALL = (CISCO_IOS, CISCO_NXOS, HUAWEI, H3C, JUNOS, ARISTA, FORTIGATE, RUIJIE)
