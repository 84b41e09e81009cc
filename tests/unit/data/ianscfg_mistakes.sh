#!/bin/sh
ianscfg -a -t team1 -M ALB
ianscfg -at team1 -m eth0 -p primary
ianscfg -at team1 -m eth1 -p primary
ianscfg -at team2 -v vadapt9 -i 30
ianscfg -at team1 -v vadapt1 -i 5000
ianscfg -at team1 -v vadapt2 -i 20
ifconfig vadapt2 192.168.20.1 netmask 255.255.0.255
ifconfig vadapt3 192.168.30.1 netmask 255.255.255.0
ianscfg -r -t team1 -m eth1
ianscfg -x team1
ifconfig eth0 10.0.0.1 netmask 255.255.255.0
route add default gw 192.168.20.254
