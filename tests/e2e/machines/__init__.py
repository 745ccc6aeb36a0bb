"""The lab's "cloud": booted Debian machines, volumes, addresses and firewalls behind the lab's router.

The DigitalOcean and Hetzner lab plugins call this package to do for real what a droplet or server,
a volume, a reserved/primary IP and a cloud firewall do. One job per module:

    cloud.py      the API (Cloud, Machine, Volume, Address, down): what the plugins call
    network.py    the cloud bridge, resolver and narrow way out inside the router namespace
    nft.py        the router's nftables table: NAT, egress limits, reserved addresses, firewalls
    firewall.py   the providers' firewall rules and their nft statements
    addresses.py  the subnet's address plan
    seed.py       the NoCloud seed (meta-data, user-data, vendor-data, network-config)
    vm.py         a machine's qemu: command line, start, stop
    volumes.py    a volume's disk and its hot-plug under the clouds' by-id names
    qmp.py        qemu's control socket
    packages.py   the Debian packages it needs, installed with apt-get when missing
    state.py      records on disk under a lock, shared by every plugin process
    procs.py      finding and stopping our own processes again
    devnet.py     a router namespace of its own, for the hand-run proofs (the smoke test, cloudproof)
    proof.py      what those proofs share: timed steps, checks, SSH into a guest, TCP probes
    smoke.py      `python -m tests.e2e.machines.smoke`: the whole backend on two machines, timed

The image comes from tools/machine-image.sh. Everything runs as root.
"""

from .cloud import Address, Cloud, Machine, Volume, build_image, down
from .firewall import Firewall, Rule
from .network import NetworkSettings

__all__ = ["Address", "Cloud", "Firewall", "Machine", "NetworkSettings", "Rule", "Volume", "build_image", "down"]
