#!/bin/sh
# Two AFT teams: a storage team without VLANs and a front team with three NICs.
modprobe ians

# storage: addresses straight on the team
ianscfg -a -t stor0 -M AFT
ianscfg -at stor0 -m enp3s0f0 -p primary
ianscfg -at stor0 -m enp3s0f1 -p secondary
ianscfg -c stor0
ifconfig stor0 10.20.0.5 netmask 255.255.0.0 up

# front: VLANs, a standby NIC, a continued line
ianscfg -a -t front -M AFT -V
ianscfg -at front -m eno1 -p primary; ianscfg -at front -m eno2 -p secondary
ianscfg -at front \
        -m eno3
ianscfg -at front -v front.100 -i 100
ianscfg -at front -v front.200 -i 200
ianscfg -c front
ifconfig front.100 172.16.100.10/24 up
ifconfig front.200 inet6 add fd00:200::10/64
ifconfig front hw ether 02:00:5e:10:00:01
ianscfg -s > /dev/null 2>&1
