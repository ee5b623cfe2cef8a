/** The virtio-pci transport (modern devices) through VFIO: BARs mapped, MSI-X as eventfds, DMA through the IOMMU. */
package io.jrump.host.virtio.pci;
