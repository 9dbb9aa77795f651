"""The network: ResNet encoder (`encoder`), the parameterisation of θ and β (`head`), the hand
model as a layer (`hand_layer`), the Gaussian decoder (`decoder`) and the trainable model that
combines them with the losses (`hand_pose_model`)."""
