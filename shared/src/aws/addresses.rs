//! Elastic IPs through the SDK, on the EC2 adapter: the addresses of an instance, taken away and
//! given back ([`AddressesPort`]).

use crate::aws::ec2::Ec2;
use crate::aws::sdk::filter;
use crate::error::AwsError;
use crate::ports::{AddressFacts, AddressesPort};

/// Elastic IPs, through EC2.
impl AddressesPort for Ec2 {
    async fn addresses(&self, instance_id: &str) -> Result<Vec<AddressFacts>, AwsError> {
        let out = self
            .0
            .describe_addresses()
            .filters(filter("instance-id", &[instance_id]))
            .send()
            .await?;
        Ok(out
            .addresses()
            .iter()
            .filter_map(|a| {
                Some(AddressFacts {
                    allocation_id: a.allocation_id()?.to_string(),
                    association_id: a.association_id()?.to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    network_interface_id: a.network_interface_id().unwrap_or_default().to_string(),
                    private_ip: a.private_ip_address().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }

    async fn disassociate_address(&self, association_id: &str) -> Result<(), AwsError> {
        match self
            .0
            .disassociate_address()
            .association_id(association_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = AwsError::from(e);
                // Gone already (a redelivery after the change): the end state holds.
                if e.code.as_deref() == Some("InvalidAssociationID.NotFound") {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn associate_address(
        &self,
        allocation_id: &str,
        network_interface_id: &str,
        private_ip: &str,
    ) -> Result<(), AwsError> {
        let mut call = self
            .0
            .associate_address()
            .allocation_id(allocation_id)
            .allow_reassociation(false);
        if !network_interface_id.is_empty() {
            call = call.network_interface_id(network_interface_id);
        }
        if !private_ip.is_empty() {
            call = call.private_ip_address(private_ip);
        }
        call.send().await?;
        Ok(())
    }
}
